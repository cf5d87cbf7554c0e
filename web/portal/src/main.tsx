import { StrictMode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { unstableSetRender } from 'antd-mobile';
import { App } from './App.tsx';

// antd-mobile's Toast and Dialog mount their own roots; React 19 needs createRoot for that.
unstableSetRender((node, container) => {
  const host = container as (Element | DocumentFragment) & { _fenxiaoRoot?: Root };
  host._fenxiaoRoot ??= createRoot(host);
  const root = host._fenxiaoRoot;
  root.render(node);
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    root.unmount();
    delete host._fenxiaoRoot;
  };
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
